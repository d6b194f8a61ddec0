require "fileinto";
if size :under 1k { fileinto "UnderK"; }
if size :over 1M { fileinto "OverM"; }

require "fileinto";
if header :is "x-empty" "" { fileinto "Empty"; }
if header :contains "x-missing" "" { fileinto "Missing"; }

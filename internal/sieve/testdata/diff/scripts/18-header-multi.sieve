require "fileinto";
if header :is "x-multi" "two" { fileinto "Two"; }
if header :is ["x-multi", "subject"] ["one", "nothing"] { fileinto "One"; }

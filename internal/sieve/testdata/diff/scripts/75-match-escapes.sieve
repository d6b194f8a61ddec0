require "fileinto";
if header :matches "subject" "*\\?*" { fileinto "Q"; }
if header :matches "subject" "\\[*" { fileinto "Br"; }
if header :contains "subject" "\\" { fileinto "Bs"; }

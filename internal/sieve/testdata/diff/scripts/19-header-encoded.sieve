require "fileinto";
if header :contains "subject" "café" { fileinto "Cafe"; }
if header :contains "subject" "réunion" { fileinto "Reunion"; }
if header :matches "x-multi" "*été" { fileinto "Ete"; }

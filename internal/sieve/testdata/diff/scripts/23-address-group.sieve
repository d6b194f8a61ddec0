require "fileinto";
if address :contains "to" "undisclosed" { fileinto "Group"; }
if address :is "cc" "me+lists@example.net" { fileinto "Cc"; }

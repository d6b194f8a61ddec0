require "fileinto";
if header :matches "subject" "[*] *" { fileinto "Bracket"; }
if header :matches "subject" "*\\**" { fileinto "Star"; }
if header :matches "from" "*@example.com*" { fileinto "Dom"; }

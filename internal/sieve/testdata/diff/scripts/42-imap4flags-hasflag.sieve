require ["imap4flags", "fileinto", "variables"];
addflag "Label";
if hasflag :is "label" { fileinto "HasLabel"; }
addflag "v" "x";
if hasflag "v" "y" { fileinto "No"; }
if hasflag :contains "v" "x" { fileinto "Yes"; }

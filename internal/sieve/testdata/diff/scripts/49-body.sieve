require ["body", "fileinto"];
if body :contains "secret" { fileinto "Secret"; }
if body :raw :contains "aGVyZSBh" { fileinto "Raw"; }
if body :content "text/html" :contains "<b>" { fileinto "Html"; }
if body :content "image" :contains "x" { fileinto "Image"; }

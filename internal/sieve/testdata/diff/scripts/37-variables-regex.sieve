require ["variables", "regex", "fileinto"];
if header :regex "subject" "^([A-Za-z]+)" { fileinto "first.${1}"; }

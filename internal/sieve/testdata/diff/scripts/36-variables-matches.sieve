require ["variables", "fileinto"];
if header :matches "subject" "[*] *" { fileinto "lists.${1}"; }
if address :matches "from" "*@*" { set "dom" "${2}"; fileinto "from.${dom}"; }

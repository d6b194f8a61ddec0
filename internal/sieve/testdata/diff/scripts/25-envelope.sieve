require ["envelope", "fileinto", "subaddress"];
if envelope :domain "from" "example.com" { fileinto "EnvFrom"; }
if envelope :detail "to" "lists" { fileinto "EnvDetail"; }
if envelope :user "to" "me" { fileinto "EnvUser"; }
if envelope :all "to" "me+lists@example.net" { fileinto "EnvAll"; }

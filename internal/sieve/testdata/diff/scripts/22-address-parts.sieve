require ["fileinto", "subaddress"];
if address :localpart "from" "alice+news" { fileinto "Local"; }
if address :domain "cc" "example.org" { fileinto "Domain"; }
if address :user "from" "alice" { fileinto "User"; }
if address :detail "from" "news" { fileinto "Detail"; }
if address :detail "to" "" { fileinto "EmptyDetail"; }
if address :all :is "to" "me@example.net" { fileinto "All"; }

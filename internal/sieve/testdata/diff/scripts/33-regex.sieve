require ["regex", "fileinto"];
if header :regex "subject" "^\\[[a-z-]+\\]" { fileinto "ListTag"; }
if header :regex "subject" "version [0-9]+[.][0-9]+" { fileinto "Version"; }
if header :regex :comparator "i;octet" "subject" "HELLO" { fileinto "Upper"; }
if address :regex :domain "from" "(com|org)$" { fileinto "ComOrg"; }
if header :regex "x-priority" "^[[:digit:]]+$" { fileinto "Digits"; }

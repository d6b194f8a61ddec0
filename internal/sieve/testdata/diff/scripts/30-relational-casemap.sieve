require ["relational", "fileinto"];
if header :value "lt" "subject" "m" { fileinto "Early"; }
if header :value "ge" :comparator "i;octet" "from" "a" { fileinto "FromGE"; }

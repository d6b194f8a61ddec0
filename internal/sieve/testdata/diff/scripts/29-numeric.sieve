require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if header :value "gt" :comparator "i;ascii-numeric" "x-priority" "5" { fileinto "High"; }
if header :value "le" :comparator "i;ascii-numeric" "x-priority" "3" { fileinto "Low"; }
if header :is :comparator "i;ascii-numeric" "x-priority" "7" { fileinto "Seven"; }
if header :value "gt" :comparator "i;ascii-numeric" "subject" "999" { fileinto "Infinity"; }

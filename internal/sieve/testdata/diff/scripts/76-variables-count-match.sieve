require ["variables", "fileinto"];
if header :matches "from" "*<*@*>*" { set "u" "${2}"; set "d" "${3}"; fileinto "u.${u}.${d}"; }
if header :matches "subject" "*" { set :length "n" "${0}"; if string :value "gt" :comparator "i;ascii-numeric" "${n}" "15" { fileinto "Long"; } }

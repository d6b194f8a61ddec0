require ["variables", "fileinto"];
set "a" "Work";
set :lower "b" "${a}";
set :upperfirst "c" "${b}";
set :length "n" "${a}${b}";
fileinto "${b}-${c}-${n}";
if string :is "${a}" "Work" { fileinto "CaseMap"; }

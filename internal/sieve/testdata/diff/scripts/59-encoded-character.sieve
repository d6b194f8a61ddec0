require ["encoded-character", "fileinto"];
fileinto "${hex:41 42}${unicode:e9}${hex:zz}x${unicode: 263a }";
if header :contains "subject" "${hex:48 65}llo" { fileinto "Enc"; }

# hash comment
/* bracket
   comment */ require ["fileinto"]; # trailing
if header :contains "subject" ["nothing", "hel\lo"] /* inline */ { fileinto "Esc\"aped"; }

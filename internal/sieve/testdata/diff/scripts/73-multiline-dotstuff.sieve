require ["fileinto", "variables"];
set "t" text:
..leading dot
plain
.
;
if string :contains "${t}" ".leading" { fileinto "Dot"; }

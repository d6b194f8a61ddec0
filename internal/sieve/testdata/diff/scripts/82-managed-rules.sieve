require ["fileinto", "mailbox", "regex"]; # mailgate rules: require
# BEGIN mailgate rules (managed by `mailgate filter`; edits here are replaced)
# rule "From" "@shop\\.example$" "Shops"
if header :regex "From" "@shop\\.example$" { fileinto :create "Shops"; stop; }
# rule "Subject" "^\\[acme-users\\]" "Lists.Acme"
if header :regex "Subject" "^\\[acme-users\\]" { fileinto :create "Lists.Acme"; stop; }
# END mailgate rules
if header :contains "subject" "hello" { discard; }

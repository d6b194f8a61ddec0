require "vacation";
vacation :days 0 :subject "Re: away" :from "me@example.net" :addresses ["me@example.net", "alias@example.net"] :mime :handle "h1" text:
Content-Type: text/plain

Away.
.
;

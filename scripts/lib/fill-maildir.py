#!/usr/bin/env python3
"""fill-maildir.py MAILDIR N [--senders K]: writes N messages straight into
MAILDIR/cur for the IMAP and webmail benchmarks (a third of them unread),
each with its own Message-ID and subject. With --senders, From cycles over
K distinct senders (so a sort by sender has work to do) and the messages
carry MIME headers; without it every message is from one sender."""
import os
import sys

root, n = sys.argv[1], int(sys.argv[2])
senders = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--senders" else 0
for d in ("tmp", "new", "cur"):
    os.makedirs(os.path.join(root, d), exist_ok=True)
cur = os.path.join(root, "cur")
t0 = 1700000000
for i in range(n):
    if senders:
        s = (i * 7919) % senders
        head = ("Return-Path: <sender%d@example.com>\r\nFrom: Sender %03d <sender%d@example.com>\r\n" % (s, s, s))
        mime = "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
    else:
        head = "Return-Path: <sender@example.com>\r\nFrom: Sender <sender@example.com>\r\n"
        mime = ""
    body = (head + "To: bench@bench.example\r\nSubject: benchmark message %d\r\n"
            "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <%d@example.com>\r\n" % (i, i)
            + mime + "\r\n") + ("line of body text for message %d\r\n" % i) * 20
    b = body.encode()
    flags = "S" if i % 3 else ""
    name = "%d.M%dP1Q%d.bench,S=%d:2,%s" % (t0 + i, i, i, len(b), flags)
    fd = os.open(os.path.join(cur, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b)
    os.close(fd)

require "fileinto";
if exists ["from", "list-id"] { fileinto "List"; }
if not exists "x-priority" { fileinto "NoPrio"; }
if size :over 1K { fileinto "Big"; }
if size :under 300 { fileinto "Small"; }

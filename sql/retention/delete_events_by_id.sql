-- One bounded batch of the prune: only ids copied to the lake, and only inside the
-- day's half-open UTC window [start, end), whatever the id list holds.
delete from {source_table}
where created_at >= %s
  and created_at < %s
  and id = any(%s::uuid[])

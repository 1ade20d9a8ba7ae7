-- The contract's table macros (metrics.md, section 3) are defined here.
select 1;

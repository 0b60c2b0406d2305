-- Placeholder for the freeze migration (0005), which another part of
-- issue 14 adds: the migration loader requires versions without gaps, and
-- 0006 (governance) was written first. The integrator replaces this file
-- with the freeze migration; on a database that already applied this
-- placeholder, that replacement must then be applied as a later version.
SELECT 1;

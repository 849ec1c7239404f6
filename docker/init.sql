-- Runs once, when the postgres container initialises an empty data directory (docker-entrypoint-initdb.d), as the
-- POSTGRES_USER (globalmcp) in the POSTGRES_DB (globalmcp) database.
--
-- Tables are NOT created here: the gateway owns its schema and applies its migrations at start
-- (mcp.database.migrate-on-start, default true; or `npm run migration:run`). This file only sets database
-- defaults the gateway expects.

-- Timestamps are stored as timestamptz; sessions see them in UTC.
ALTER DATABASE globalmcp SET timezone TO 'UTC';

-- A session that sits in an open transaction (a crashed client) must not hold locks for ever.
ALTER DATABASE globalmcp SET idle_in_transaction_session_timeout TO '60s';

-- Only the owner creates objects in the public schema (the PostgreSQL 15 default, stated for older servers).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- A read-only role for reporting and ad-hoc queries; grant it to a login role when needed:
--   CREATE ROLE reporting LOGIN PASSWORD '...' IN ROLE globalmcp_readonly;
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'globalmcp_readonly') THEN
    CREATE ROLE globalmcp_readonly NOLOGIN;
  END IF;
END
$$;
GRANT CONNECT ON DATABASE globalmcp TO globalmcp_readonly;
GRANT USAGE ON SCHEMA public TO globalmcp_readonly;
ALTER DEFAULT PRIVILEGES FOR ROLE globalmcp IN SCHEMA public GRANT SELECT ON TABLES TO globalmcp_readonly;

-- Users, their hashed API tokens, and uploads with their processing state.
CREATE TABLE IF NOT EXISTS users (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS api_tokens (
    token_hash  text PRIMARY KEY,            -- sha256 of the bearer token; the token itself is never stored
    user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE TABLE IF NOT EXISTS uploads (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    filename        text NOT NULL,               -- sanitised client name: metadata only
    content_type    text NOT NULL,               -- decided by magic bytes
    size_bytes      bigint NOT NULL,
    sha256          text NOT NULL,
    raw_key         text NOT NULL,
    state           text NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'processing', 'completed', 'failed')),
    progress        integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    event_seq       bigint NOT NULL DEFAULT 1,   -- id of the last SSE event for this upload
    attempts        integer NOT NULL DEFAULT 0,
    completions     integer NOT NULL DEFAULT 0,  -- how often the result was committed (must stay <= 1)
    failure_reason  text,
    result_key      text,
    manifest        jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS uploads_user_created ON uploads (user_id, created_at DESC, id DESC);

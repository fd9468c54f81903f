-- The worker's settle sweep looks for uploads that stopped moving: keep that lookup cheap.
CREATE INDEX IF NOT EXISTS uploads_unsettled ON uploads (updated_at)
    WHERE state IN ('queued', 'processing');

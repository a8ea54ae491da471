-- The unguessable part of a booking's link in emails and calendar files,
-- which opens a page about the booking without a session. Bookings made
-- before it have none: their emails link to the exam dashboard.
ALTER TABLE bookings ADD COLUMN link_token TEXT;
CREATE UNIQUE INDEX bookings_link_token ON bookings (link_token);

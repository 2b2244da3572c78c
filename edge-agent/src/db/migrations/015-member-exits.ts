import type { Migration } from '../migrate.js';

/**
 * The exit gate pass each session member left through: a tag passage through the exit gate is
 * decided a few seconds after the pass, and across a restart checkout must still know whose it is.
 */
export const memberExits: Migration = {
  version: 15,
  name: 'member-exits',
  up(db) {
    db.exec(`
      ALTER TABLE session_members ADD COLUMN exit_gate_event INTEGER;
      CREATE INDEX session_members_left ON session_members (left_at);
    `);
  },
};

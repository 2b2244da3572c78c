import type { Migration } from '../migrate.js';

/**
 * Reference vectors of products for recognition, one row per reference image, tied to the model
 * that computed them (a new model needs its own vectors: they are not comparable across models).
 */
export const productGallery: Migration = {
  version: 8,
  name: 'product-gallery',
  up(db) {
    db.exec(`
      CREATE TABLE product_references (
        id        INTEGER PRIMARY KEY,
        product   TEXT    NOT NULL,
        model     TEXT    NOT NULL,
        embedding BLOB    NOT NULL,
        source    TEXT    NOT NULL,
        added_by  TEXT,
        added_at  INTEGER NOT NULL
      );
      CREATE INDEX product_references_model ON product_references (model, product);
    `);
  },
};

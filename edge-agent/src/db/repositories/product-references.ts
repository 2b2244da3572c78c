import type { Database, Statement } from 'better-sqlite3';

export interface ProductReference {
  id: number;
  product: string;
  embedding: Float32Array;
  source: string;
}

export type NewReference = Omit<ProductReference, 'id'>;

/** Reference vectors per product and model; vectors are stored as little-endian float32 blobs. */
export class ProductReferenceRepository {
  private readonly insert: Statement;
  private readonly ofModel: Statement;
  private readonly countsOf: Statement;
  private readonly removeProduct: Statement;
  private readonly otherModels: Statement;
  private readonly addAllTx: (refs: readonly NewReference[], model: string, addedBy: string | null, at: number) => void;

  constructor(db: Database) {
    this.insert = db.prepare('INSERT INTO product_references (product, model, embedding, source, added_by, added_at) VALUES (?, ?, ?, ?, ?, ?)');
    this.ofModel = db.prepare('SELECT id, product, embedding, source FROM product_references WHERE model = ? ORDER BY id');
    this.countsOf = db.prepare('SELECT product, COUNT(*) AS refs FROM product_references WHERE model = ? GROUP BY product ORDER BY product');
    this.removeProduct = db.prepare('DELETE FROM product_references WHERE product = ? AND model = ?');
    this.otherModels = db.prepare('SELECT model, COUNT(*) AS refs FROM product_references WHERE model != ? GROUP BY model');
    this.addAllTx = db.transaction((refs: readonly NewReference[], model: string, addedBy: string | null, at: number) => {
      for (const r of refs) this.add(r.product, model, r.embedding, r.source, addedBy, at);
    });
  }

  /** Several references of one model in one transaction: all of them or none. */
  addAll(refs: readonly NewReference[], model: string, addedBy: string | null, at: number): void {
    this.addAllTx(refs, model, addedBy, at);
  }

  add(product: string, model: string, embedding: Float32Array, source: string, addedBy: string | null, at: number): number {
    const blob = Buffer.from(embedding.buffer, embedding.byteOffset, embedding.byteLength);
    return Number(this.insert.run(product, model, blob, source, addedBy, Math.round(at)).lastInsertRowid);
  }

  forModel(model: string): ProductReference[] {
    return (this.ofModel.all(model) as { id: number; product: string; embedding: Buffer; source: string }[]).map((r) => ({
      id: r.id,
      product: r.product,
      // Copied out: the blob's buffer is not guaranteed to be aligned for float32 reads.
      embedding: new Float32Array(new Uint8Array(r.embedding).buffer),
      source: r.source,
    }));
  }

  counts(model: string): { product: string; refs: number }[] {
    return this.countsOf.all(model) as { product: string; refs: number }[];
  }

  remove(product: string, model: string): number {
    return this.removeProduct.run(product, model).changes;
  }

  /** Vectors stored for other models (an old model's gallery after an update). */
  others(model: string): { model: string; refs: number }[] {
    return this.otherModels.all(model) as { model: string; refs: number }[];
  }
}

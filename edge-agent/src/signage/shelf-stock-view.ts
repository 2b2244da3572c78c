/** Whether a product can be recommended: a screen never shows what the shelf has run out of (the stock book knows). */
export interface StockView {
  inStock(product: string): boolean;
}

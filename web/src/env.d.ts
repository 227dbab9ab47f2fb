/** Styles imported for their side effect: esbuild writes them to app.css. */
declare module '*.css';

/** vega-embed's global, from the script tag the page loads before this bundle (the daemon serves vega's own build). */
declare function vegaEmbed(el: HTMLElement, spec: unknown, opts?: { actions?: boolean; renderer?: 'svg' | 'canvas' }): Promise<unknown>;

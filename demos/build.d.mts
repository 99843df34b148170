/** Where the demos are built: dist/demos. */
export const DEMOS_OUT: string;
/** The demos: folders of demos/ holding a main.ts. */
export function demoNames(): string[];
/** Builds the named demos (all by default) into dist/demos; returns their names. */
export function buildDemos(names?: string[]): Promise<string[]>;

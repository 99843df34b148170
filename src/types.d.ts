// The wgsl_reflect package's "main" is CommonJS under "type": "module"; we import its ES module build,
// whose types are the package's own.
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export * from 'wgsl_reflect';
}

// Vite's `?url` imports (tests load binary fixtures this way in the browser).
declare module '*?url' {
  const url: string;
  export default url;
}

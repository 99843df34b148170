// esbuild (demos/build.mjs) imports .wgsl files as text; this tells TypeScript so for this demo's shader
// (a pattern of its own, so that another demo's declaration of the same kind cannot collide with it).
declare module '*/latent-scatter.wgsl' {
  const latentScatterWgsl: string;
  export default latentScatterWgsl;
}

// Vite's `?raw` imports: the file's text (the workerd tests cannot read files from disk).
declare module '*.yaml?raw' {
  const text: string;
  export default text;
}

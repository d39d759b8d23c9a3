// Types for the deep imports of xml-builder-workerd.ts: the same classes and parser the package root exports.
declare module '@aws-sdk/xml-builder/dist-es/XmlNode.js' {
  export { XmlNode } from '@aws-sdk/xml-builder';
}
declare module '@aws-sdk/xml-builder/dist-es/XmlText.js' {
  export { XmlText } from '@aws-sdk/xml-builder';
}
declare module '@aws-sdk/xml-builder/dist-es/xml-parser.js' {
  export { parseXML } from '@aws-sdk/xml-builder';
}

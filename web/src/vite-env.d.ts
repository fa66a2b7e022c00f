/// <reference types="vite/client" />

declare module "virtual:basemap" {
  const land: import("geojson").FeatureCollection;
  export default land;
}

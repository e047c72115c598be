/** Neural-network building blocks on tfjs: the Module contract, layers, fast ops and seeded noise. */
export * from "./layers.js";
export * from "./module.js";
export * from "./noise.js";
export * from "./ops.js";

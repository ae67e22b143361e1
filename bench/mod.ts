// Benchmarks: not implemented yet. The benchmark work (cold start, per-call
// overhead, answer size, memory, growth) is tracked as its own issue; until
// then this task says so instead of pretending to measure anything.
console.log("bench: no benchmarks yet (tracked in the benchmarks issue); nothing was measured.");

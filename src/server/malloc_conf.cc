// jemalloc's options for the oriel binary, read by jemalloc at its first allocation (the
// MALLOC_CONF environment variable still overrides them).
//
// percpu_arena: one arena per CPU instead of one per thread (up to 4 x CPUs arenas). Queries run
// on whichever HTTP thread takes the request, so with per-thread arenas a query's decoded samples,
// decompressed chunk pages and tables went to an arena whose free memory jemalloc had already
// given back to the kernel or that another thread's memory never warmed: every query page-faulted
// its memory in anew, at ~15 us per 4 KiB page on the benchmark VM (700 faults for a 24 h
// `sum by` range query, 3,000 for the first one of a class). With arenas per CPU, memory freed
// by ingest and by the previous query is what the next one gets.
//
// background_thread: jemalloc's own threads return unused dirty pages to the kernel (madvise)
// instead of whichever thread happens to free memory when the decay deadline passes. Inline, a
// trace lookup freeing its decoded spans right after a large ingest paid 20-90 ms for it (TLB
// shootdowns on this VM), which set the by-id p99 at 11M spans.
extern "C" {
// Read by jemalloc (weak symbol in the library, this definition takes precedence).
const char* malloc_conf = "percpu_arena:percpu,background_thread:true";
}

{#- Port access by width: Verilator maps ports of up to 8/16/32/64 bits to
    CData/SData/IData/QData and wider ones to VlWide (32-bit words, index 0 = bits 31..0). -#}
{%- macro store(port, width, words, source, indent) -%}
{%- if width > 64 %}{{ indent }}for (int i = 0; i < {{ words }}; ++i) top.{{ port }}[i] = {{ source }}[i];
{%- elif width > 32 %}{{ indent }}top.{{ port }} = static_cast<QData>({{ source }}[0]) | static_cast<QData>({{ source }}[1]) << 32;
{%- else %}{{ indent }}top.{{ port }} = {{ source }}[0];
{%- endif %}
{%- endmacro -%}
{%- macro load(port, width, words, target, indent) -%}
{%- if width > 64 %}{{ indent }}for (int i = 0; i < {{ words }}; ++i) {{ target }}[i] = top.{{ port }}[i];
{%- elif width > 32 %}{{ indent }}const QData value = top.{{ port }};
{{ indent }}{{ target }}[0] = static_cast<uint32_t>(value);
{{ indent }}{{ target }}[1] = static_cast<uint32_t>(value >> 32);
{%- else %}{{ indent }}{{ target }}[0] = top.{{ port }};
{%- endif %}
{%- endmacro -%}
// Bulk testbench of {{ top }}, written by hwgen {{ version }} from rtl_templates/bulk_tb.cpp
// (see hwgen.sim.bulk, which renders, compiles and runs it).
//
// Streams packed input beats and golden output beats from two binary files (little-endian
// 32-bit words, {{ in_words }} and {{ out_words }} per sample, element k of a vector at bits
// [k*W, (k+1)*W)) through the AXI4-Stream ports, with the traffic rules of hwgen.sim.traffic:
// the first CLEAN samples go through without input gaps or backpressure (the latency probe),
// every later one meets random gaps and backpressure. Every output beat is compared with its
// golden beat here, in C++; a JSON summary goes to RESULT.
//
// usage: bulk_tb INPUTS EXPECTED FIRST COUNT CLEAN SEED GAP BACKPRESSURE STALL_LIMIT DRAIN RESULT [+ARG...]
//   FIRST, COUNT: the range of samples of the files this process streams;
//   GAP, BACKPRESSURE: per-cycle probabilities in [0, 1);
//   STALL_LIMIT: cycles without a handshake, while the testbench offers a beat or is ready,
//     after which the DUT counts as hung; DRAIN: cycles to listen after the last expected
//     output, for extra beats; +ARG: plusargs for the design's $test$plusargs/$value$plusargs,
//     and two of the testbench's own:
//   +hwgen_ready=random|bursts|alternate|on-valid: m_axis_tready after the latency probe: low
//     at random (BACKPRESSURE per cycle); in stall bursts of 1 to 256 cycles (one starts with
//     BACKPRESSURE / 16 per cycle); low every other cycle; or low only while the output is
//     valid (BACKPRESSURE per such cycle);
//   +hwgen_reset_at=C: rst high for RESET_CYCLES cycles from cycle C, mid-stream. The samples
//     in flight are dropped (their golden outputs are skipped); no output may be valid from
//     the first reset edge until the first sample sent after it comes out; the stream then
//     goes on with the next sample.
#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "V{{ top }}.h"
#include "verilated.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the vector files hold little-endian words");

namespace {

constexpr int IN_WORDS = {{ in_words }};
constexpr int OUT_WORDS = {{ out_words }};
// Verilator expects the unused top bits of an input to be zero, and keeps those of outputs so.
constexpr uint32_t IN_TOP_MASK = {{ in_top_mask }}u;
constexpr uint32_t OUT_TOP_MASK = {{ out_top_mask }}u;
constexpr int MAX_REPORTED = {{ max_reported }};
constexpr int RESET_CYCLES = 3;
constexpr uint64_t BLOCK_SAMPLES = 1 << 14;

[[noreturn]] void fail(const std::string& message) {
    std::fprintf(stderr, "bulk_tb: %s\n", message.c_str());
    std::exit(2);
}

// splitmix64: fast, and plenty for gap and backpressure decisions
class Rng {
  public:
    explicit Rng(uint64_t seed) : state_(seed) {}
    uint64_t next() {
        uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    // true with probability threshold / 2^32
    bool below(uint64_t threshold) { return (next() >> 32) < threshold; }

  private:
    uint64_t state_;
};

// Reads samples [first, first + count) of a vector file, a block at a time.
class VectorFile {
  public:
    VectorFile(const char* path, int words, uint64_t first, uint64_t count)
        : path_(path), words_(words), left_(count), buffer_(BLOCK_SAMPLES * words) {
        file_ = std::fopen(path, "rb");
        if (!file_) fail(std::string("cannot open ") + path);
        if (fseeko(file_, static_cast<off_t>(first * words * 4), SEEK_SET) != 0)
            fail(std::string("cannot seek in ") + path);
    }
    ~VectorFile() { std::fclose(file_); }
    const uint32_t* next() {
        if (position_ == held_) refill();
        return &buffer_[(position_++) * words_];
    }

  private:
    void refill() {
        const uint64_t n = std::min(BLOCK_SAMPLES, left_);
        if (n == 0 || std::fread(buffer_.data(), 4 * words_, n, file_) != n)
            fail(std::string("too few samples in ") + path_);
        left_ -= n;
        held_ = n;
        position_ = 0;
    }
    std::string path_;
    int words_;
    uint64_t left_;
    std::vector<uint32_t> buffer_;
    uint64_t held_ = 0, position_ = 0;
    FILE* file_;
};

std::string hex(const uint32_t* words, int count) {
    std::string text;
    char digits[9];
    for (int i = count - 1; i >= 0; --i) {
        std::snprintf(digits, sizeof digits, "%08" PRIx32, words[i]);
        text += digits;
    }
    return text;
}

std::string cycles_json(const std::vector<uint64_t>& cycles) {
    std::string text = "[";
    for (size_t i = 0; i < cycles.size(); ++i) text += (i ? ", " : "") + std::to_string(cycles[i]);
    return text + "]";
}

enum class Ready { random, bursts, alternate, on_valid };

Ready ready_pattern(const std::string& name) {
    if (name == "random") return Ready::random;
    if (name == "bursts") return Ready::bursts;
    if (name == "alternate") return Ready::alternate;
    if (name == "on-valid") return Ready::on_valid;
    fail("unknown +hwgen_ready pattern " + name + " (random, bursts, alternate, on-valid)");
}

uint64_t threshold(const char* probability) {
    const double p = std::atof(probability);
    if (!(p >= 0.0 && p < 1.0)) fail(std::string("probability must be in [0, 1): ") + probability);
    return static_cast<uint64_t>(p * 4294967296.0);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 12) fail("usage: bulk_tb INPUTS EXPECTED FIRST COUNT CLEAN SEED GAP BACKPRESSURE STALL_LIMIT DRAIN RESULT [+ARG...]");
    const uint64_t first = std::strtoull(argv[3], nullptr, 10);
    const uint64_t count = std::strtoull(argv[4], nullptr, 10);
    const uint64_t clean = std::strtoull(argv[5], nullptr, 10);
    const uint64_t seed = std::strtoull(argv[6], nullptr, 10);
    const uint64_t gap = threshold(argv[7]);
    const uint64_t backpressure = threshold(argv[8]);
    const uint64_t stall_limit = std::strtoull(argv[9], nullptr, 10);
    const uint64_t drain = std::strtoull(argv[10], nullptr, 10);
    VectorFile inputs(argv[1], IN_WORDS, first, count);
    VectorFile expected(argv[2], OUT_WORDS, first, count);
    Rng source_rng(seed * 2 + 1), sink_rng(seed * 2 + 2);
    Ready pattern = Ready::random;
    uint64_t reset_at = 0;  // 0: no reset mid-stream
    for (int i = 12; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg.rfind("+hwgen_ready=", 0) == 0) pattern = ready_pattern(arg.substr(13));
        if (arg.rfind("+hwgen_reset_at=", 0) == 0) reset_at = std::strtoull(arg.c_str() + 16, nullptr, 10);
    }

    VerilatedContext context;
    context.commandArgs(argc, argv);
    V{{ top }} top{&context};
    // rst high for RESET_CYCLES edges with both streams idle; returns after how many of those
    // edges the output was valid (none may be)
    auto reset = [&top]() {
        top.{{ in_valid }} = 0;
        top.{{ out_ready }} = 0;
        top.rst = 1;
        uint64_t valid_edges = 0;
        for (int i = 0; i < RESET_CYCLES; ++i) {
            top.eval();
            top.clk = 1;
            top.eval();
            top.clk = 0;
            valid_edges += top.{{ out_valid }} ? 1 : 0;
        }
        top.rst = 0;
        return valid_edges;
    };
    top.clk = 0;
    reset();

    uint64_t cycle = 0, sent = 0, received = 0, mismatches = 0, stalled_cycles = 0, idle_input_cycles = 0;
    uint64_t last_expected_cycle = 0, quiet = 0, burst = 0;
    // mid-stream reset: samples dropped, cycles with a valid output while none may be
    uint64_t dropped = 0, valid_after_reset = 0;
    bool source_valid = false, timed_out = false, quiet_since_reset = false;
    const uint32_t* beat = nullptr;
    uint32_t idle[IN_WORDS], got[OUT_WORDS];
    std::vector<uint64_t> probe_inputs, probe_outputs;
    std::string reported;
    int reported_count = 0;
    while (true) {
        if (reset_at != 0 && cycle == reset_at) {
            // The beat on offer, if any, is offered again after the reset.
            valid_after_reset += reset();
            cycle += RESET_CYCLES;
            for (; received + dropped < sent; ++dropped) expected.next();
            quiet_since_reset = true;
            quiet = 0;
        }
        // Drive the ports for this cycle (the values the DUT sees at the next rising edge).
        if (!source_valid && sent < count) {
            source_valid = sent < clean || !source_rng.below(gap);
            if (source_valid) beat = inputs.next();
        }
        if (source_valid) {
{{ store(in_signal, in_width, in_words, "beat", "            ") }}
        } else if (sent < count) {
            // random bits while idle, so a DUT that takes data without tvalid gets caught
            for (int i = 0; i < IN_WORDS; ++i) idle[i] = static_cast<uint32_t>(source_rng.next());
            idle[IN_WORDS - 1] &= IN_TOP_MASK;
{{ store(in_signal, in_width, in_words, "idle", "            ") }}
            ++idle_input_cycles;
        }
        top.{{ in_valid }} = source_valid;
        const uint64_t done = received + dropped;
        const bool random_phase = clean <= done && done < count;
        bool sink_ready = true;
        if (random_phase) {
            switch (pattern) {
                case Ready::random: sink_ready = !sink_rng.below(backpressure); break;
                case Ready::bursts:
                    if (burst == 0 && sink_rng.below(backpressure / 16)) burst = 1 + sink_rng.next() % 256;
                    sink_ready = burst == 0;
                    if (burst) --burst;
                    break;
                case Ready::alternate: sink_ready = cycle % 2 == 0; break;
                case Ready::on_valid:  // AXI: tvalid may not wait for tready, so look first
                    top.{{ out_ready }} = 1;
                    top.eval();
                    sink_ready = !(top.{{ out_valid }} && sink_rng.below(backpressure));
                    break;
            }
        }
        top.{{ out_ready }} = sink_ready;
        top.eval();
        if (quiet_since_reset) {
            // From the reset on, nothing may come out before a sample sent after it had time
            // to: a beat now would be a partial or stale one.
            if (top.{{ out_valid }} && sent == received + dropped) ++valid_after_reset;
            if (sent > received + dropped) quiet_since_reset = false;
        }
        // The handshakes happen at the coming edge, number cycle + 1.
        const bool input_moves = source_valid && top.{{ in_ready }};
        const bool output_valid = top.{{ out_valid }};
        const bool output_moves = sink_ready && output_valid;
        if (output_valid && !sink_ready) ++stalled_cycles;
        if (output_moves) {
            if (received + dropped < count) {
{{ load(out_signal, out_width, out_words, "got", "                ") }}
                got[OUT_WORDS - 1] &= OUT_TOP_MASK;
                const uint32_t* want = expected.next();
                bool same = true;
                for (int i = 0; i < OUT_WORDS; ++i) same &= got[i] == want[i];
                if (!same && ++mismatches <= MAX_REPORTED) {
                    reported += std::string(reported_count++ ? ", " : "") + "{\"sample\": " +
                                std::to_string(first + received + dropped) + ", \"expected\": \"" + hex(want, OUT_WORDS) +
                                "\", \"got\": \"" + hex(got, OUT_WORDS) + "\"}";
                }
                if (received < clean) probe_outputs.push_back(cycle + 1);
                last_expected_cycle = cycle + 1;
            }
            ++received;
        }
        if (input_moves) {
            if (sent < clean) probe_inputs.push_back(cycle + 1);
            ++sent;
            source_valid = false;
        }
        const bool offered = source_valid || (sink_ready && received + dropped < count);
        quiet = (input_moves || output_moves) ? 0 : quiet + offered;
        top.clk = 1;
        top.eval();
        top.clk = 0;
        ++cycle;
        if (received + dropped >= count && cycle - last_expected_cycle >= drain) break;
        if (quiet > stall_limit) {
            timed_out = true;
            break;
        }
    }
    top.final();

    FILE* result = std::fopen(argv[11], "w");
    if (!result) fail(std::string("cannot write ") + argv[11]);
    std::fprintf(result,
                 "{\"first\": %" PRIu64 ", \"samples\": %" PRIu64 ", \"inputs_sent\": %" PRIu64
                 ", \"outputs\": %" PRIu64 ", \"mismatches\": %" PRIu64 ", \"first_mismatches\": [%s]"
                 ", \"clean_samples\": %" PRIu64 ", \"stalled_cycles\": %" PRIu64
                 ", \"idle_input_cycles\": %" PRIu64 ", \"cycles\": %" PRIu64 ", \"timed_out\": %s"
                 ", \"probe_input_cycles\": %s, \"probe_output_cycles\": %s"
                 ", \"dropped_in_reset\": %" PRIu64 ", \"valid_after_reset\": %" PRIu64 "}\n",
                 first, count, sent, received, mismatches, reported.c_str(), clean, stalled_cycles,
                 idle_input_cycles, cycle, timed_out ? "true" : "false", cycles_json(probe_inputs).c_str(),
                 cycles_json(probe_outputs).c_str(), dropped, valid_after_reset);
    std::fclose(result);
    return 0;
}

// Server-streaming load generator for healthledger.bench.v1.Echo/ServerStream.
//
// Keeps --streams calls open at all times, spread over --channels HTTP/2 connections; each call
// asks for --messages responses of --payload bytes, and when it ends with OK another starts in
// its place. Everything runs on one thread polling one completion queue, so the client costs
// one core (pin it with taskset). Messages are counted only after --warmup seconds, for
// --duration seconds. Python grpcio tops out far below what a server can stream, hence C++.
//
// Usage: stream_client --target 127.0.0.1:PORT [--streams N] [--channels N] [--messages N]
//                      [--payload BYTES] [--duration SECONDS] [--warmup SECONDS]
// Prints one line of key=value pairs: messages_per_sec, messages, streams_completed,
// errors (non-OK statuses or responses of the wrong size). Exits 1 if errors > 0.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "echo.grpc.pb.h"

namespace {

using healthledger::bench::v1::Echo;
using healthledger::bench::v1::EchoResponse;
using healthledger::bench::v1::StreamRequest;
// gRPC deadlines accept only system_clock time points.
using Clock = std::chrono::system_clock;

/// Command-line settings.
struct Options {
  std::string target;
  int streams = 1;
  int channels = 1;
  uint32_t messages = 1000;
  uint32_t payload = 0;
  double duration = 5;
  double warmup = 1;
};

/// Parses the flags listed in the file comment; exits with usage on anything else.
Options ParseOptions(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      auto eq = arg.find('=');
      if (eq != std::string::npos) return arg.substr(eq + 1);
      if (i + 1 >= argc) {
        std::fprintf(stderr, "missing value for %s\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    std::string name = arg.substr(0, arg.find('='));
    if (name == "--target") options.target = value();
    else if (name == "--streams") options.streams = std::atoi(value().c_str());
    else if (name == "--channels") options.channels = std::atoi(value().c_str());
    else if (name == "--messages") options.messages = std::strtoul(value().c_str(), nullptr, 10);
    else if (name == "--payload") options.payload = std::strtoul(value().c_str(), nullptr, 10);
    else if (name == "--duration") options.duration = std::atof(value().c_str());
    else if (name == "--warmup") options.warmup = std::atof(value().c_str());
    else {
      std::fprintf(stderr,
                   "usage: stream_client --target HOST:PORT [--streams N] [--channels N] "
                   "[--messages N] [--payload BYTES] [--duration S] [--warmup S]\n");
      std::exit(2);
    }
  }
  if (options.target.empty() || options.streams < 1 || options.channels < 1) {
    std::fprintf(stderr, "stream_client: --target is required; --streams/--channels >= 1\n");
    std::exit(2);
  }
  return options;
}

/// Totals shared by all stream slots (one thread, so plain integers).
struct Counters {
  uint64_t messages = 0;
  uint64_t streams_completed = 0;
  uint64_t errors = 0;
};

/// One always-busy stream position: runs a ServerStream call to its end, then starts the next.
class StreamSlot {
 public:
  StreamSlot(Echo::Stub* stub, grpc::CompletionQueue* cq, const Options& options, Counters* counters)
      : stub_(stub), cq_(cq), counters_(counters), expected_size_(options.payload) {
    request_.set_message_count(options.messages);
    request_.set_payload_size(options.payload);
  }

  /// Opens a new call (the previous one, if any, has finished).
  void Start() {
    // The reader lives in the call's arena, which the context owns: drop it first.
    reader_.reset();
    context_ = std::make_unique<grpc::ClientContext>();
    reader_ = stub_->PrepareAsyncServerStream(context_.get(), request_, cq_);
    state_ = State::kStarting;
    reader_->StartCall(this);
  }

  /// Advances the call after the operation it was waiting for completed.
  void Proceed(bool ok) {
    switch (state_) {
      case State::kStarting:
        if (!ok) return Finish();
        ReadNext();
        return;
      case State::kReading:
        if (!ok) return Finish();  // Server half-closed: collect the status.
        counters_->messages += 1;
        if (response_.payload().size() != expected_size_) counters_->errors += 1;
        ReadNext();
        return;
      case State::kFinishing:
        if (status_.ok()) {
          counters_->streams_completed += 1;
        } else {
          counters_->errors += 1;
          if (counters_->errors <= 3) {
            std::fprintf(stderr, "stream_client: stream ended with status %d: %s\n",
                         static_cast<int>(status_.error_code()), status_.error_message().c_str());
          }
        }
        Start();
        return;
    }
  }

 private:
  enum class State { kStarting, kReading, kFinishing };

  void ReadNext() {
    state_ = State::kReading;
    reader_->Read(&response_, this);
  }

  void Finish() {
    state_ = State::kFinishing;
    reader_->Finish(&status_, this);
  }

  Echo::Stub* stub_;
  grpc::CompletionQueue* cq_;
  Counters* counters_;
  size_t expected_size_;
  StreamRequest request_;
  EchoResponse response_;
  grpc::Status status_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientAsyncReader<EchoResponse>> reader_;
  State state_ = State::kStarting;
};

}  // namespace

int main(int argc, char** argv) {
  Options options = ParseOptions(argc, argv);

  std::vector<std::unique_ptr<Echo::Stub>> stubs;
  for (int i = 0; i < options.channels; ++i) {
    grpc::ChannelArguments args;
    // Distinct args give each channel its own subchannel, i.e. its own TCP connection.
    args.SetInt("healthledger.bench.channel_index", i);
    args.SetMaxReceiveMessageSize(-1);
    auto channel = grpc::CreateCustomChannel(options.target, grpc::InsecureChannelCredentials(), args);
    if (!channel->WaitForConnected(Clock::now() + std::chrono::seconds(5))) {
      std::fprintf(stderr, "stream_client: cannot connect to %s\n", options.target.c_str());
      return 1;
    }
    stubs.push_back(Echo::NewStub(channel));
  }

  grpc::CompletionQueue cq;
  Counters counters;
  std::vector<std::unique_ptr<StreamSlot>> slots;
  for (int i = 0; i < options.streams; ++i) {
    slots.push_back(std::make_unique<StreamSlot>(stubs[i % stubs.size()].get(), &cq, options, &counters));
    slots.back()->Start();
  }

  auto to_duration = [](double seconds) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  };
  const auto measure_start = Clock::now() + to_duration(options.warmup);
  const auto measure_end = measure_start + to_duration(options.duration);
  bool measuring = false;
  Counters at_start;

  void* tag = nullptr;
  bool ok = false;
  for (;;) {
    auto now = Clock::now();
    if (!measuring && now >= measure_start) {
      measuring = true;
      at_start = counters;
    }
    if (now >= measure_end) break;
    auto deadline = measuring ? measure_end : measure_start;
    auto status = cq.AsyncNext(&tag, &ok, deadline);
    if (status == grpc::CompletionQueue::GOT_EVENT) static_cast<StreamSlot*>(tag)->Proceed(ok);
  }

  uint64_t messages = counters.messages - at_start.messages;
  uint64_t completed = counters.streams_completed - at_start.streams_completed;
  std::printf("messages_per_sec=%.1f messages=%llu streams_completed=%llu errors=%llu\n",
              messages / options.duration, static_cast<unsigned long long>(messages),
              static_cast<unsigned long long>(completed),
              static_cast<unsigned long long>(counters.errors));
  std::fflush(stdout);
  // Calls are still open; tearing them down cleanly would only add seconds to every run, so
  // leave without running destructors (the kernel closes the sockets).
  std::_Exit(counters.errors > 0 ? 1 : 0);
}

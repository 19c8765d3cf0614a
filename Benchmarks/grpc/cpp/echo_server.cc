// Reference gRPC C++ server for healthledger.bench.v1.Echo (Benchmarks/grpc/echo.proto).
//
// It is the baseline our Swift transport is measured against, so it runs gRPC C++ in its
// fastest configuration by default: the asynchronous completion-queue API with one
// ServerCompletionQueue and one polling thread per core (--threads). Every RPC is handled on
// the thread that polled its event; nothing hops between threads, which is the layout of
// gRPC's own QPS benchmark server (test/cpp/qps/server_async.cc). The callback API
// (--mode callback) is kept for comparison: in gRPC 1.51 its reactions run on gRPC's internal
// executor, whose thread count the application does not choose.
//
// Usage: echo_server [--port N] [--threads N] [--mode async|callback] [--prerequest N]
// Prints "echo_server listening on 127.0.0.1:PORT" once serving (PORT is the bound port,
// so --port 0 picks a free one), then serves until SIGINT or SIGTERM.

#include <grpcpp/grpcpp.h>
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "echo.grpc.pb.h"

namespace {

using healthledger::bench::v1::Echo;
using healthledger::bench::v1::EchoRequest;
using healthledger::bench::v1::EchoResponse;
using healthledger::bench::v1::StreamRequest;

/// Command-line settings.
struct Options {
  int port = 0;
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  std::string mode = "async";
  // Calls kept requested per method and completion queue, so a burst of new streams finds a
  // waiting call object instead of queueing inside the server.
  int prerequest = 64;
};

/// Parses --port, --threads, --mode and --prerequest; exits with usage on anything else.
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
    if (name == "--port") {
      options.port = std::atoi(value().c_str());
    } else if (name == "--threads") {
      options.threads = std::atoi(value().c_str());
    } else if (name == "--mode") {
      options.mode = value();
    } else if (name == "--prerequest") {
      options.prerequest = std::atoi(value().c_str());
    } else {
      std::fprintf(stderr,
                   "usage: echo_server [--port N] [--threads N] [--mode async|callback] "
                   "[--prerequest N]\n");
      std::exit(2);
    }
  }
  if (options.threads < 1) options.threads = 1;
  if (options.mode != "async" && options.mode != "callback") {
    std::fprintf(stderr, "--mode must be async or callback\n");
    std::exit(2);
  }
  return options;
}

// ---------------------------------------------------------------------------------------------
// Async completion-queue server.

/// One in-flight RPC of the async server; the completion-queue tag is the object itself.
class AsyncCall {
 public:
  virtual ~AsyncCall() = default;
  /// Advances the call after the operation it was waiting for completed (`ok` as the CQ says).
  virtual void Proceed(bool ok) = 0;
};

/// Echo/Unary: request, then answer with the same payload and finish in one batch.
class AsyncUnaryCall final : public AsyncCall {
 public:
  AsyncUnaryCall(Echo::AsyncService* service, grpc::ServerCompletionQueue* cq)
      : service_(service), cq_(cq), responder_(&context_) {
    service_->RequestUnary(&context_, &request_, &responder_, cq_, cq_, this);
  }

  void Proceed(bool ok) override {
    if (!ok || finishing_) {  // Server shutting down, or the Finish batch completed.
      delete this;
      return;
    }
    new AsyncUnaryCall(service_, cq_);  // Keep the same number of calls requested.
    response_.mutable_payload()->swap(*request_.mutable_payload());
    finishing_ = true;
    responder_.Finish(response_, grpc::Status::OK, this);
  }

 private:
  Echo::AsyncService* service_;
  grpc::ServerCompletionQueue* cq_;
  grpc::ServerContext context_;
  EchoRequest request_;
  EchoResponse response_;
  grpc::ServerAsyncResponseWriter<EchoResponse> responder_;
  bool finishing_ = false;
};

/// Echo/ServerStream: writes message_count copies of one response, the last one together with
/// the trailers (WriteAndFinish sends both in one batch).
class AsyncStreamCall final : public AsyncCall {
 public:
  AsyncStreamCall(Echo::AsyncService* service, grpc::ServerCompletionQueue* cq)
      : service_(service), cq_(cq), writer_(&context_) {
    service_->RequestServerStream(&context_, &request_, &writer_, cq_, cq_, this);
  }

  void Proceed(bool ok) override {
    switch (state_) {
      case State::kRequested:
        if (!ok) {  // Server shutting down.
          delete this;
          return;
        }
        new AsyncStreamCall(service_, cq_);
        response_.mutable_payload()->assign(request_.payload_size(), '\0');
        remaining_ = request_.message_count();
        WriteNext();
        return;
      case State::kWriting:
        if (!ok) {  // The client went away; the call is dead, finish to release it.
          state_ = State::kFinishing;
          writer_.Finish(grpc::Status::CANCELLED, this);
          return;
        }
        WriteNext();
        return;
      case State::kFinishing:
        delete this;
        return;
    }
  }

 private:
  enum class State { kRequested, kWriting, kFinishing };

  void WriteNext() {
    if (remaining_ == 0) {
      state_ = State::kFinishing;
      writer_.Finish(grpc::Status::OK, this);
    } else if (--remaining_ == 0) {
      state_ = State::kFinishing;
      writer_.WriteAndFinish(response_, grpc::WriteOptions(), grpc::Status::OK, this);
    } else {
      state_ = State::kWriting;
      writer_.Write(response_, this);
    }
  }

  Echo::AsyncService* service_;
  grpc::ServerCompletionQueue* cq_;
  grpc::ServerContext context_;
  StreamRequest request_;
  EchoResponse response_;
  grpc::ServerAsyncWriter<EchoResponse> writer_;
  State state_ = State::kRequested;
  uint32_t remaining_ = 0;
};

/// Drains one completion queue until it is shut down and empty.
void PollCompletionQueue(grpc::ServerCompletionQueue* cq) {
  void* tag = nullptr;
  bool ok = false;
  while (cq->Next(&tag, &ok)) static_cast<AsyncCall*>(tag)->Proceed(ok);
}

// ---------------------------------------------------------------------------------------------
// Callback-API server.

/// Writes the stream of a callback-API ServerStream call, one message in flight at a time.
class CallbackStreamWriter final : public grpc::ServerWriteReactor<EchoResponse> {
 public:
  explicit CallbackStreamWriter(const StreamRequest& request) : remaining_(request.message_count()) {
    response_.mutable_payload()->assign(request.payload_size(), '\0');
    WriteNext();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::CANCELLED);
      return;
    }
    WriteNext();
  }

  void OnDone() override { delete this; }

 private:
  void WriteNext() {
    if (remaining_ == 0) {
      Finish(grpc::Status::OK);
    } else if (--remaining_ == 0) {
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    } else {
      StartWrite(&response_);
    }
  }

  EchoResponse response_;
  uint32_t remaining_;
};

/// The Echo service on the callback API.
class CallbackEchoService final : public Echo::CallbackService {
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* context, const EchoRequest* request,
                                  EchoResponse* response) override {
    response->set_payload(request->payload());
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerWriteReactor<EchoResponse>* ServerStream(grpc::CallbackServerContext* /*context*/,
                                                        const StreamRequest* request) override {
    return new CallbackStreamWriter(*request);
  }
};

// ---------------------------------------------------------------------------------------------

/// Blocks SIGINT and SIGTERM in every thread so the main thread can sigwait for them.
sigset_t BlockShutdownSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

}  // namespace

int main(int argc, char** argv) {
  Options options = ParseOptions(argc, argv);
  sigset_t shutdown_signals = BlockShutdownSignals();

  std::string address = "127.0.0.1:" + std::to_string(options.port);
  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &bound_port);

  Echo::AsyncService async_service;
  CallbackEchoService callback_service;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> cqs;
  if (options.mode == "async") {
    builder.RegisterService(&async_service);
    for (int i = 0; i < options.threads; ++i) cqs.push_back(builder.AddCompletionQueue());
  } else {
    builder.RegisterService(&callback_service);
  }

  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound_port == 0) {
    std::fprintf(stderr, "echo_server: could not listen on %s\n", address.c_str());
    return 1;
  }

  std::vector<std::thread> pollers;
  for (auto& cq : cqs) {
    for (int i = 0; i < options.prerequest; ++i) {
      new AsyncUnaryCall(&async_service, cq.get());
      new AsyncStreamCall(&async_service, cq.get());
    }
    pollers.emplace_back(PollCompletionQueue, cq.get());
  }

  std::printf("echo_server listening on 127.0.0.1:%d (mode %s, threads %d)\n", bound_port,
              options.mode.c_str(), options.mode == "async" ? options.threads : 0);
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&shutdown_signals, &signal_number);

  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  for (auto& cq : cqs) cq->Shutdown();
  for (auto& poller : pollers) poller.join();
  return 0;
}

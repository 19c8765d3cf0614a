extension ServerMethod {
    /// This method with `interceptors` around its handler, the first outermost: it sees the call first and
    /// its end last. The chain is put together once here, not per call.
    public func intercepted(by interceptors: [any ServerInterceptor]) -> ServerMethod {
        var handle = self.handle
        for interceptor in interceptors.reversed() {
            let next = handle
            handle = { requests, responses, context in
                try await interceptor.intercept(requests: requests, responses: responses, context: context, next: next)
            }
        }
        return ServerMethod(descriptor: descriptor, handle: handle)
    }
}

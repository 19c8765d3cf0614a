print("healthledger")

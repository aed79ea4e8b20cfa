module podpatterns.io/bench/api-server-client

go 1.24

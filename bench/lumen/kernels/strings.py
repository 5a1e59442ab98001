def main():
    total = 0
    for i in range(200000):
        key = "key-" + str(i) + ";"
        total += len(key)
    print(total)

main()

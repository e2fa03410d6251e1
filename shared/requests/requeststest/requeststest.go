// Package requeststest loads many requests into a requests table at once,
// for tests and benchmarks that need a large table: BatchWriteItem, 25
// items a call from several writers, with no audit events and no
// conditions.
package requeststest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/requests"
)

// BatchWriter is the part of the DynamoDB client the loader uses.
type BatchWriter interface {
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

// Writers is how many BatchWriteItem calls run at once.
const Writers = 16

// Put stores rs in table as requests.Table stores them (requests.Item);
// a request without a version is stored at version 1.
func Put(ctx context.Context, db BatchWriter, table string, rs []egress.Request) error {
	items := make([]map[string]types.AttributeValue, len(rs))
	for i, r := range rs {
		if r.Version == 0 {
			r.Version = 1
		}
		var err error
		if items[i], err = requests.Item(r); err != nil {
			return err
		}
	}
	return BatchWrite(ctx, db, table, items)
}

// BatchWrite writes items to table 25 at a time from Writers writers,
// retrying what DynamoDB leaves unprocessed. It stops at the first error.
func BatchWrite(ctx context.Context, db BatchWriter, table string, items []map[string]types.AttributeValue) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []map[string]types.AttributeValue)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for range Writers {
		wg.Go(func() {
			for b := range batches {
				reqs := make([]types.WriteRequest, len(b))
				for i, it := range b {
					reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: it}}
				}
				for len(reqs) > 0 {
					out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: reqs}})
					if err != nil {
						mu.Lock()
						errs = append(errs, fmt.Errorf("batch write to %s: %w", table, err))
						mu.Unlock()
						cancel()
						return
					}
					reqs = out.UnprocessedItems[table]
				}
			}
		})
	}
feed:
	for b := range slices.Chunk(items, 25) {
		select {
		case batches <- b:
		case <-ctx.Done():
			break feed
		}
	}
	close(batches)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}

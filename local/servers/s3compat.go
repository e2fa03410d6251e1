package servers

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
)

// ListUploadsByPrefixID is the id of ListUploadsByPrefix's middleware.
const ListUploadsByPrefixID = "egress/local/servers.ListUploadsByPrefix"

// maxUploadsPage is S3's largest (and default) ListMultipartUploads page.
const maxUploadsPage = 1000

// ListUploadsByPrefix is an APIOptions entry for clients of the local S3
// server that gives ListMultipartUploads S3's prefix semantics, which
// MinIO lacks: given a prefix, MinIO lists only the uploads of the key
// equal to it, so objects.DeletePrefix would never find the unfinished
// uploads under a request's folder locally. Without a prefix MinIO lists
// every upload of the bucket, unsorted and in one page; a call with a
// prefix is sent that way, and the uploads under the prefix are sorted by
// key and upload id and paged here by the call's markers and MaxUploads.
// A call without a prefix is left as MinIO answers it.
func ListUploadsByPrefix(stack *middleware.Stack) error {
	return stack.Serialize.Add(middleware.SerializeMiddlewareFunc(ListUploadsByPrefixID, func(ctx context.Context, in middleware.SerializeInput, next middleware.SerializeHandler) (middleware.SerializeOutput, middleware.Metadata, error) {
		params, ok := in.Parameters.(*s3.ListMultipartUploadsInput)
		if !ok || aws.ToString(params.Prefix) == "" {
			return next.HandleSerialize(ctx, in)
		}
		if aws.ToString(params.Delimiter) != "" {
			return middleware.SerializeOutput{}, middleware.Metadata{}, fmt.Errorf("local S3: ListMultipartUploads with both a prefix and a delimiter is not emulated")
		}
		sent := *params
		sent.Prefix, sent.KeyMarker, sent.UploadIdMarker, sent.MaxUploads = nil, nil, nil, nil
		in.Parameters = &sent
		out, md, err := next.HandleSerialize(ctx, in)
		if err != nil {
			return out, md, err
		}
		all, ok := out.Result.(*s3.ListMultipartUploadsOutput)
		if !ok {
			return out, md, fmt.Errorf("local S3: ListMultipartUploads returned %T", out.Result)
		}
		if aws.ToBool(all.IsTruncated) {
			// MinIO has never been seen to page this listing; filtering one
			// page of it would hide uploads.
			return out, md, fmt.Errorf("local S3: bucket %s has more multipart uploads than one listing holds; prefix listing is not emulated beyond it", aws.ToString(params.Bucket))
		}
		out.Result = uploadsPage(all, params)
		return out, md, nil
	}), middleware.Before)
}

// uploadsPage is the page of all's uploads that S3 would answer in to in.
func uploadsPage(all *s3.ListMultipartUploadsOutput, in *s3.ListMultipartUploadsInput) *s3.ListMultipartUploadsOutput {
	prefix, keyMarker, idMarker := aws.ToString(in.Prefix), aws.ToString(in.KeyMarker), aws.ToString(in.UploadIdMarker)
	var uploads []types.MultipartUpload
	for _, u := range all.Uploads {
		key, id := aws.ToString(u.Key), aws.ToString(u.UploadId)
		if !strings.HasPrefix(key, prefix) {
			continue
		}
		// After the markers: later keys, and later uploads of the marker's
		// key when an upload id marker is given (S3's rules).
		if keyMarker != "" && (key < keyMarker || key == keyMarker && (idMarker == "" || id <= idMarker)) {
			continue
		}
		uploads = append(uploads, u)
	}
	slices.SortFunc(uploads, func(a, b types.MultipartUpload) int {
		return cmp.Or(strings.Compare(aws.ToString(a.Key), aws.ToString(b.Key)), strings.Compare(aws.ToString(a.UploadId), aws.ToString(b.UploadId)))
	})
	limit := int(aws.ToInt32(in.MaxUploads))
	if limit <= 0 || limit > maxUploadsPage {
		limit = maxUploadsPage
	}
	page := *all
	page.Prefix, page.KeyMarker, page.UploadIdMarker = in.Prefix, in.KeyMarker, in.UploadIdMarker
	page.MaxUploads = aws.Int32(int32(limit))
	page.IsTruncated = aws.Bool(len(uploads) > limit)
	page.NextKeyMarker, page.NextUploadIdMarker = nil, nil
	if len(uploads) > limit {
		uploads = uploads[:limit]
		page.NextKeyMarker, page.NextUploadIdMarker = uploads[limit-1].Key, uploads[limit-1].UploadId
	}
	page.Uploads = uploads
	return &page
}
